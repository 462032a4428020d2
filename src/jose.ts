/**
 * What signed tokens use of jose, as a module of its own: src/signed-tokens.ts loads it on first use (most apps
 * sign no tokens), and importing it by name keeps the rest of jose out of the bundle.
 */
export { errors, importJWK, jwtVerify } from "jose";
