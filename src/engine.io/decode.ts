import { decodeBase64 } from "./base64.js";
import { PACKET_TYPES_BY_CODE, type DecodeError, type EngineProtocol, type Frame, type Packet } from "./packet.js";

/** Decodes one WebSocket frame (or one packet of a polling payload). Never throws: bad input is a {@link DecodeError}. */
export function decodePacket(frame: Frame, protocol: EngineProtocol): Packet | DecodeError {
  if (typeof frame !== "string") return decodeBinaryFrame(frame, protocol);
  if (frame.startsWith("b")) return decodeBase64Packet(frame.slice(1), protocol);
  const type = PACKET_TYPES_BY_CODE.get(frame.charAt(0));
  if (!type) return { type: "error", reason: `unknown Engine.IO packet type ${JSON.stringify(frame.slice(0, 1))}` };
  return frame.length > 1 ? { type, data: frame.slice(1) } : { type };
}

function decodeBinaryFrame(frame: Uint8Array, protocol: EngineProtocol): Packet | DecodeError {
  if (protocol === 4) return { type: "message", data: frame };
  const type = PACKET_TYPES_BY_CODE.get(String(frame[0]));
  if (!type) return { type: "error", reason: "unknown Engine.IO packet type in binary frame" };
  return { type, data: frame.subarray(1) };
}

/** Base64 packets carry binary data through text-only transports: `b<data>` in v4, `b<type><data>` in v3. */
function decodeBase64Packet(body: string, protocol: EngineProtocol): Packet | DecodeError {
  const type = protocol === 4 ? "message" : PACKET_TYPES_BY_CODE.get(body.charAt(0));
  if (!type) return { type: "error", reason: "unknown Engine.IO packet type in base64 packet" };
  const data = decodeBase64(protocol === 4 ? body : body.slice(1));
  if (!data) return { type: "error", reason: "invalid base64 in binary packet" };
  return { type, data };
}
