export { generateApiKey, hashApiKey } from "./api-keys.ts";
export { hashPassword, verifyPassword } from "./passwords.ts";
export { AuthService, isMetered, requireCredits } from "./service.ts";
export { TokenService } from "./tokens.ts";
export type { Principal } from "./service.ts";
export type { TokenClaims } from "./tokens.ts";
