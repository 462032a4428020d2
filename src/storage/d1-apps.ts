import { z } from "zod";

export interface AppRecord {
  id: number;
  name: string;
  /** Origins allowed to connect; empty means any origin. */
  allowedOrigins: string[];
  createdAt: number;
}

const AppRow = z.object({
  id: z.number().int(),
  name: z.string(),
  allowed_origins: z.string().transform((text, ctx) => {
    const origins = z.array(z.string()).safeParse(JSON.parse(text));
    if (origins.success) return origins.data;
    ctx.addIssue({ code: "custom", message: "allowed_origins is not a JSON array of strings" });
    return z.NEVER;
  }),
  created_at: z.number(),
});

/** Reads an `apps` row (all columns). */
export function parseAppRow(row: unknown): AppRecord {
  const app = AppRow.parse(row);
  return { id: app.id, name: app.name, allowedOrigins: app.allowed_origins, createdAt: app.created_at };
}

export async function findApp(db: D1Database, appId: number): Promise<AppRecord | null> {
  const row = await db.prepare("SELECT * FROM apps WHERE id = ?1").bind(appId).first();
  return row ? parseAppRow(row) : null;
}
