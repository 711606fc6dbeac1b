/**
 * `weapp-auth/components`: what an app calls for the drop-in components. `provideAuth(auth)` in
 * app.ts gives them (and `guardPage`) the app's instance; `guardPage(options)` makes a page wait
 * for a session. The components themselves are not imported: name them in `usingComponents`
 * (`"auth-profile-form": "weapp-auth/components/profile-form/index"`, and `phone-button`,
 * `privacy-popup`, `login-panel`); DevTools' "build npm" copies them from miniprogram_dist.
 */
export { provideAuth, providedAuth } from './wiring'
export type { ProvideAuthOptions, ProvidedAuth, ComponentAuth } from './wiring'
export { guardPage } from './guard'
export type { GuardOptions, GuardedThis } from './guard'
