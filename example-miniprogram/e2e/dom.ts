/** miniprogram-simulate outside jest needs the DOM globals of jsdom first (see shared notes). */
import { JSDOM } from 'jsdom'

export function installDom(): void {
  const dom = new JSDOM('<!doctype html><body></body>', { pretendToBeVisual: true })
  const g = global as unknown as Record<string, unknown>
  for (const k of ['window', 'document', 'navigator', 'HTMLElement', 'Node', 'Event', 'CustomEvent', 'MutationObserver', 'getComputedStyle']) {
    // Node has its own Event/CustomEvent: jsdom's must win, or dispatchEvent rejects them.
    const value = k === 'window' ? dom.window : (dom.window as unknown as Record<string, unknown>)[k]
    Object.defineProperty(g, k, { value, configurable: true, writable: true })
  }
}
