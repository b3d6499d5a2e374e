import Http from 'http';
import type { AddressInfo } from 'net';

import { WebSocketServer, type WebSocket } from 'ws';

import { queryBody, signatureProblem } from '../../plugins/vonage/signature';


// Talky's side of the wire for the simulator's tests: records every webhook (and whether its
// signature holds), answers with an NCCO the test chooses, and takes voice sockets.

export interface Received {
    method: string;
    url: URL;
    body: string;
    json: Record<string, any> | null;
    problem: string | null;                                 // signature problem, when a secret is set
}

export interface Reply {
    status: number;
    body?: unknown;
}

export interface TalkySide {
    url: string;
    received: Received[];
    respond: (request: Received) => Reply | undefined;      // undefined: the default reply
    ncco: (request: Received) => unknown[];
    onSocket: (socket: WebSocket, uuid: string) => void;
    events(uuid?: string): Received[];
    statuses(uuid: string): string[];
    close(): Promise<void>;
}


export const startTalkySide = async (secret?: string): Promise<TalkySide> => {

    const server = Http.createServer();
    const wss = new WebSocketServer({ noServer: true });

    const side: TalkySide = {
        url: '',
        received: [],
        respond: () => undefined,
        ncco: (request) => [{
            action: 'connect',
            eventUrl: [`${side.url}/api/v1/webhooks/vonage/event`],
            endpoint: [{
                type: 'websocket',
                uri: `${side.url.replace(/^http/, 'ws')}/api/v1/ws/voice/${request.url.searchParams.get('uuid')}`,
                'content-type': 'audio/l16;rate=16000',
                headers: { call_uuid: request.url.searchParams.get('uuid'), call_id: request.url.searchParams.get('call_id') }
            }]
        }],
        onSocket: (socket) => socket.close(),
        events: (uuid) => side.received.filter((request) => request.url.pathname.endsWith('/event') && (!uuid || (request.json?.uuid ?? request.json?.call_uuid) === uuid)),
        statuses: (uuid) => side.events(uuid).map((request) => request.json!.status as string),
        close: async () => {

            for (const client of wss.clients) {
                client.terminate();
            }

            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        }
    };

    server.on('request', (req: Http.IncomingMessage, res: Http.ServerResponse) => {

        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {

            const url = new URL(req.url!, side.url);
            const body = Buffer.concat(chunks).toString();
            const signed = req.method === 'GET' ? queryBody(url.searchParams) : body;
            const request: Received = {
                method: req.method!,
                url,
                body,
                json: body ? JSON.parse(body) : null,
                problem: secret ? signatureProblem(secret, req.headers.authorization, signed) : null
            };

            side.received.push(request);
            const reply = side.respond(request) ?? (url.pathname.endsWith('/answer') ? { status: 200, body: side.ncco(request) } : { status: 204 });
            res.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' });
            res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
        });
    });

    server.on('upgrade', (req, socket, head) => {

        const uuid = /\/api\/v1\/ws\/voice\/([^/?]+)/.exec(req.url ?? '')?.[1];
        if (!uuid) {
            socket.destroy();
            return;
        }

        wss.handleUpgrade(req, socket, head, (ws) => side.onSocket(ws, decodeURIComponent(uuid)));
    });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    side.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return side;
};
