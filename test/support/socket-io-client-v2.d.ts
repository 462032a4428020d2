declare module "socket.io-client-v2" {
  /** The part of socket.io-client 2.x's API the tests use. */
  interface LegacySocket {
    connected: boolean;
    io: { engine: { transport: { name: string }; on(event: string, listener: (...args: unknown[]) => void): void } };
    on(event: string, listener: (...args: any[]) => void): LegacySocket;
    once(event: string, listener: (...args: any[]) => void): LegacySocket;
    emit(event: string, ...args: unknown[]): LegacySocket;
    disconnect(): LegacySocket;
  }
  function io(url: string, options?: Record<string, unknown>): LegacySocket;
  export = io;
}
