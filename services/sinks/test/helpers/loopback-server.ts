/**
 * An HTTP(S) server on 127.0.0.1 that a test can take down (connections
 * dropped, then refused) and bring back on the same port: the base of the
 * receivers and vendor stand-ins the outputs are tested against.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export abstract class LoopbackServer implements AsyncDisposable {
  #server: Server | undefined;
  #port = 0;

  /** The port it listens on (0 before the first start). */
  protected get port(): number {
    return this.#port;
  }

  /** A new server calling `handle`; start() builds one each time it listens. */
  protected abstract createServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Server;

  protected abstract handle(req: IncomingMessage, res: ServerResponse): void;

  async start(port = 0): Promise<this> {
    const server = this.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection (the server is "down"). */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    await this.start(this.#port);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
