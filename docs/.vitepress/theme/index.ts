// The default theme, as is: this folder only holds theme/langs.ts (swapped in by config.mts).
import DefaultTheme from 'vitepress/theme'

export default DefaultTheme
