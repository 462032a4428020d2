// The file src/bundle/zod-to-openapi-without-generator.ts re-exports from: the package's own module, by its path
// (its name is aliased to that file in the bundle), with the package's types.
declare module "@asteasolutions/zod-to-openapi/dist/index.mjs" {
  export * from "@asteasolutions/zod-to-openapi";
}
