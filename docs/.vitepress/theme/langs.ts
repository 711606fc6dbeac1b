/**
 * The language switch. VitePress' own links every page to the same path under the other
 * language, which does not exist for the pages that are only in English (the API reference,
 * generated from the English doc comments, and the 404 page): there it leads to the other
 * language's home instead. Which pages exist is `themeConfig.pages`, listed by the config at
 * build time, so the server render and the browser compute the same link.
 *
 * Swapped in for the default theme's composables/langs by an alias in config.mts; same API.
 */
import { computed } from 'vue'
import { useData } from 'vitepress'

export function useLangs({ correspondingLink = false } = {}) {
  const { site, localeIndex, page, theme, hash } = useData()
  const currentLang = computed(() => ({
    label: site.value.locales[localeIndex.value]?.label,
    link: site.value.locales[localeIndex.value]?.link || (localeIndex.value === 'root' ? '/' : `/${localeIndex.value}/`),
  }))
  const localeLinks = computed(() =>
    Object.entries(site.value.locales).flatMap(([key, value]) => {
      if (currentLang.value.label === value.label) return []
      const home = value.link || (key === 'root' ? '/' : `/${key}/`)
      const path = page.value.relativePath.slice(currentLang.value.link.length - 1)
      const target = (home.slice(1) + path).replace(/^\//, '')
      const pages: string[] = (theme.value as { pages?: string[] }).pages || []
      const exists = pages.includes(target)
      const corresponding = theme.value.i18nRouting !== false && correspondingLink && exists
      return {
        text: value.label,
        link: normalizeLink(home, corresponding, path, !site.value.cleanUrls) + (corresponding ? hash.value : ''),
      }
    }),
  )
  return { localeLinks, currentLang }
}

function normalizeLink(link: string, addPath: boolean, path: string, addExt: boolean): string {
  if (!addPath) return link
  const rest = path.replace(/(^|\/)index\.md$/, '$1').replace(/\.md$/, addExt ? '.html' : '')
  return link.replace(/\/$/, '') + (rest.startsWith('/') ? rest : '/' + rest)
}
