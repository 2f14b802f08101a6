import { createServer } from 'node:net';

/** A loopback port nobody listens on: one the OS picked, then closed (an endpoint that is down). */
export function closedLoopbackPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}
