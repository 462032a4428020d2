import { z } from "zod";

/** The app id in a query string: a positive integer in canonical decimal form. */
export const AppId = z
  .string({ error: "app_id query parameter is required" })
  .regex(/^[1-9]\d{0,14}$/, "app_id must be a positive integer")
  .transform(Number);

/** The query of every /socket.io/ request; transport and version are checked by the Engine.IO server in its own order. */
export const SocketIoQuery = z.object({
  app_id: AppId,
  EIO: z.string().optional(),
  transport: z.string().optional(),
  sid: z.string().optional(),
});
