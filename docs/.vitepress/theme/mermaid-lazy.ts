/**
 * The Mermaid component, loaded on first use. vitepress-plugin-mermaid registers its component in
 * the app entry, which made every page preload all of Mermaid (about 5 MB of JavaScript); through
 * this wrapper only the pages with a diagram load it. Swapped in by an alias in config.mts.
 */
import { defineAsyncComponent } from 'vue'

export default defineAsyncComponent(() => import('mermaid-component-real'))
