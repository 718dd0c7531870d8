import { createServer } from 'node:net';
import type { Socket } from 'node:net';

export interface EchoServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** A TCP server on loopback that writes back every byte it receives. */
export function startEchoServer(port = 0, host = '127.0.0.1'): Promise<EchoServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`echo server on ${host}:${port} has no TCP address`));
        return;
      }
      resolve({
        host,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
