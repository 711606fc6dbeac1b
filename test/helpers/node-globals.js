// jsdom test environments lack some Node globals that server-side code in the same test uses
// (jose needs TextEncoder/TextDecoder). Node's own are the right ones.
const util = require('util')
if (typeof globalThis.TextEncoder === 'undefined') globalThis.TextEncoder = util.TextEncoder
if (typeof globalThis.TextDecoder === 'undefined') globalThis.TextDecoder = util.TextDecoder
