// Names each entry module after the specifier a team imports it by ("weapp-auth/open"), instead
// of TypeDoc's file-derived "index"/"open", so the API reference reads like the import lines.
import { Converter, ReflectionKind } from 'typedoc'

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const project = context.project
    const pkg = project.name
    for (const mod of project.getReflectionsByKind(ReflectionKind.Module)) {
      mod.name = mod.name === 'index' ? pkg : `${pkg}/${mod.name}`
    }
  })
}
