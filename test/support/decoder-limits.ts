import { AttachmentBudget, type DecoderLimits } from "../../src/socket.io/decode.js";

/** Limits that take every binary packet, for tests of the codec itself. */
export const anyBinary = (): DecoderLimits => ({ maxAttachmentBytes: Infinity, acceptsBinary: () => true, budget: new AttachmentBudget(Infinity) });
