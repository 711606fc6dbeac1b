/**
 * Where the example's server is. `npm run example:server` prints its URL; for a real server
 * use its https:// origin (and add it to the request/uploadFile legal domains in the admin console).
 */
export const config: { baseURL: string; debug?: (line: string) => void } = {
  baseURL: 'http://127.0.0.1:3000',
}
