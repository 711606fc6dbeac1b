export { jwtExpiry } from './expiry'
