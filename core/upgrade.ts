import type Http from 'http';
import type Net from 'net';

import type Boom from '@hapi/boom';
import { WebSocketServer, type WebSocket } from 'ws';


// nes attaches a ws server to the listener with no path, so it takes every upgrade. The router
// takes nes's upgrade listeners off the listener and sends each upgrade either to a raw socket
// route (the voice pipeline) or, when none matches, to nes.

export type SocketHandler<T = unknown> = (socket: WebSocket, request: Http.IncomingMessage, params: Record<string, string>, context: T) => void;

// Runs before the handshake: throws a Boom error to refuse it with that status, or returns what
// the handler is given (the looked-up call, say)

export type SocketAuthorizer<T = unknown> = (request: Http.IncomingMessage, params: Record<string, string>) => Promise<T>;

interface SocketRoute {
    pattern: RegExp;
    keys: string[];
    wss: WebSocketServer;
    handler: SocketHandler;
    authorize?: SocketAuthorizer;
}

type UpgradeListener = (request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => void;


export class UpgradeRouter {

    private readonly routes: SocketRoute[] = [];
    private fallback: UpgradeListener[] = [];

    // Path in hapi's style: /api/v1/ws/voice/{uuid}

    route<T>(path: string, handler: SocketHandler<T>, options: { maxPayload?: number; authorize?: SocketAuthorizer<T> } = {}) {

        const keys: string[] = [];
        const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, key: string) => {

            keys.push(key);
            return '([^/]+)';
        });

        const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
        this.routes.push({ pattern: new RegExp(`^${source}$`), keys, wss, handler: handler as SocketHandler, authorize: options.authorize });
    }

    attach(listener: Http.Server) {

        this.fallback = listener.listeners('upgrade') as UpgradeListener[];
        listener.removeAllListeners('upgrade');
        listener.on('upgrade', (request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => this.upgrade(request, socket, head));
    }

    async close() {

        for (const { wss } of this.routes) {
            for (const client of wss.clients) {
                client.close(1001, 'server stopping');
            }

            await new Promise((resolve) => wss.close(resolve));
        }
    }

    private upgrade(request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) {

        const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
        for (const route of this.routes) {
            const match = route.pattern.exec(pathname);
            if (!match) {
                continue;
            }

            const params = Object.fromEntries(route.keys.map((key, i) => [key, decodeURIComponent(match[i + 1]!)]));
            const accept = (context: unknown) => {

                route.wss.handleUpgrade(request, socket, head, (ws) => {

                    ws.on('error', () => undefined);
                    route.handler(ws, request, params, context);
                });
            };

            if (!route.authorize) {
                accept(undefined);
                return;
            }

            socket.on('error', () => undefined);
            route.authorize(request, params).then(accept, (err: Boom.Boom) => {

                const status = err.isBoom ? err.output.statusCode : 500;
                const reason = err.isBoom ? err.output.payload.error : 'Internal Server Error';
                socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${err.isBoom ? err.message : ''}`);
            });

            return;
        }

        if (!this.fallback.length) {
            socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
            return;
        }

        for (const listener of this.fallback) {
            listener(request, socket, head);
        }
    }
}
