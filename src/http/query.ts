import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";

/** An app id in a URL (query or path): a positive integer in canonical decimal form. */
export const AppId = builtOnFirstUse(() => z
  .string({ error: "app_id is required" })
  .regex(/^[1-9]\d{0,14}$/, "app_id must be a positive integer")
  .transform(Number));
