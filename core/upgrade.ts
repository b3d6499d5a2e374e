import type Http from 'http';
import type Net from 'net';

import { WebSocketServer, type WebSocket } from 'ws';


// nes attaches a ws server to the listener with no path, so it takes every upgrade. The router
// takes nes's upgrade listeners off the listener and sends each upgrade either to a raw socket
// route (the voice pipeline) or, when none matches, to nes.

export type SocketHandler = (socket: WebSocket, request: Http.IncomingMessage, params: Record<string, string>) => void;

interface SocketRoute {
    pattern: RegExp;
    keys: string[];
    wss: WebSocketServer;
    handler: SocketHandler;
}

type UpgradeListener = (request: Http.IncomingMessage, socket: Net.Socket, head: Buffer) => void;


export class UpgradeRouter {

    private readonly routes: SocketRoute[] = [];
    private fallback: UpgradeListener[] = [];

    // Path in hapi's style: /api/v1/ws/voice/{uuid}

    route(path: string, handler: SocketHandler, options: { maxPayload?: number } = {}) {

        const keys: string[] = [];
        const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, key: string) => {

            keys.push(key);
            return '([^/]+)';
        });

        const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });
        this.routes.push({ pattern: new RegExp(`^${source}$`), keys, wss, handler });
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
            route.wss.handleUpgrade(request, socket, head, (ws) => {

                ws.on('error', () => undefined);
                route.handler(ws, request, params);
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
