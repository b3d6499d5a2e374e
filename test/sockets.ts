import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import Nes from '@hapi/nes/lib/client';
import WebSocket from 'ws';

import { startServer, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const open = (url: string) => new Promise<{ socket: WebSocket; first: string }>((resolve, reject) => {

    const socket = new WebSocket(url);
    socket.once('message', (data) => resolve({ socket, first: data.toString() }));
    socket.once('error', reject);
});


describe('sockets', () => {

    let harness: Harness;
    let base: string;

    before(async () => {

        harness = await startServer({ plugins: [Path.join(__dirname, 'fixtures', 'echo-plugin')] }, { listen: true });
        base = `ws://127.0.0.1:${harness.server.info.port}`;
        harness.server.subscription('/news', { auth: false });
    });

    after(() => harness.cleanup());

    it('shares one listener between nes and a raw socket route', async () => {

        const owner = await signUp(harness.server);
        const client = new Nes.Client(base as `ws://${string}`);
        await client.connect({ auth: { headers: owner.headers } });
        const received: unknown[] = [];
        await client.subscribe('/news', (message) => received.push(message));

        const { socket, first } = await open(`${base}/api/v1/ws/echo/call-123`);
        expect(JSON.parse(first)).to.equal({ id: 'call-123' });

        const echoed = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
        socket.send('ping');
        expect(await echoed).to.equal('ping');

        harness.server.publish('/news', { hello: 'world' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(received).to.equal([{ hello: 'world' }]);

        const nesAnswer = await client.request('/api/v1/health');
        expect(nesAnswer.statusCode).to.equal(200);

        socket.close();
        await client.disconnect();
    });

    it('closes raw sockets when the server stops', async () => {

        const { socket } = await open(`${base}/api/v1/ws/echo/call-9`);
        const closed = new Promise<number>((resolve) => socket.once('close', resolve));
        await harness.server.stop({ timeout: 500 });
        expect(await closed).to.equal(1001);
    });
});
