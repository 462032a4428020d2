/** A random, URL-safe id with 120 bits of entropy, for Engine.IO session ids and Socket.IO socket ids. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_");
}
