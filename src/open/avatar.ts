/**
 * `uploadAvatar(auth, eventOrPath)`: uploads the file a chooseavatar event (or chooseMedia, or
 * any host's file picker) handed out, with the token, through the host's uploadFile
 * (`auth.platform`: on Alipay the adapter adds the `fileName` / `fileType` my.uploadFile needs).
 *
 * Only WeChat has `<button open-type="chooseAvatar">`; QQ, Douyin and Alipay declare none
 * (docs/platforms.md, "Client: open abilities"): there, pass the path from the host's image
 * picker (`qq.chooseImage`, `tt.chooseImage`, `my.chooseImage`: `tempFilePaths[0]`). All four
 * hosts have uploadFile.
 *
 * Every host names its local files its own way: `wxfile://…` on WeChat devices and `http://tmp/…`
 * in WeChat DevTools, `ttfile://temp/…` on Douyin
 * (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/api/file/tt-save-file),
 * https-shaped virtual paths on Alipay (`https://resource/apml….video`:
 * https://help.aliyun.com/en/document_detail/67569.html) and Alibaba's other containers
 * (https://open.alitrip.com/docs/doc.htm?articleId=119611&docType=1&treeId=785), plain sandbox
 * paths elsewhere. So any path is accepted, except an http(s) URL whose host is a real domain or
 * address (it has a dot or a port): that is a file on someone's server, not on the device.
 */
import { AuthError } from '../base/errors'
import { attempt } from './host'
import { checkInstance, type AuthInstance } from './instance'

export interface ChooseAvatarEvent {
  detail: { avatarUrl?: string }
}

export interface UploadAvatarOptions {
  /** Default '/api/upload/avatar'. */
  url?: string
  /** Multipart field name. Default 'file'. */
  name?: string
  formData?: Record<string, unknown>
}

/** `https://thirdwx.qlogo.cn/…`, `http://10.0.0.2/…`, `https://cdn:8443/…`: remote. `http://tmp/…`: local. */
const REMOTE = /^https?:\/\/[^/?#]*[.:@]/i

/** Uploads the temp file of a chooseavatar event (or a local path) with the token; resolves with your server's JSON. */
export function uploadAvatar<T = unknown>(auth: AuthInstance, eventOrPath: ChooseAvatarEvent | string, options: UploadAvatarOptions = {}): Promise<T> {
  return attempt(() => {
    checkInstance(auth, 'uploadAvatar')
    const path = typeof eventOrPath === 'string' ? eventOrPath : eventOrPath && eventOrPath.detail && eventOrPath.detail.avatarUrl
    if (typeof path !== 'string' || !path) throw new AuthError('INVALID_INPUT', 'uploadAvatar() needs the chooseavatar event or a temp file path.')
    if (REMOTE.test(path)) {
      throw new AuthError('INVALID_INPUT', 'uploadAvatar() got a remote URL: save it with updateProfile(auth, { avatarUrl }).')
    }
    return auth.upload<T>({ url: options.url || '/api/upload/avatar', filePath: path, name: options.name || 'file', formData: options.formData })
  }, 'uploadAvatar')
}
