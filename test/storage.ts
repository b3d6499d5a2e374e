import type { EventEmitter } from 'events';
import Fs from 'fs';
import type Http from 'http';
import type { AddressInfo } from 'net';
import Os from 'os';
import Path from 'path';
import { Readable } from 'stream';

import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Code from '@hapi/code';
import Lab from '@hapi/lab';

import type { Storage } from '../plugins/storage/backend';
import { checkKey } from '../plugins/storage/backend';
import { folderStorage } from '../plugins/storage/local';
import { s3Storage, type S3Options } from '../plugins/storage/s3';
import { startServer } from './lib/harness';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// s3rver ships no types: this is the part of it the tests use

interface S3rver extends EventEmitter {
    httpServer: Http.Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
}

const S3rver: new (options: object) => S3rver = require('s3rver');


const read = async (stream: Readable) => {

    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
    }

    return Buffer.concat(chunks);
};


// A pattern rather than a fill, so a read from the wrong offset cannot pass

const pattern = (length: number) => {

    const bytes = Buffer.alloc(length);
    for (let i = 0; i < length; ++i) {
        bytes[i] = (i * 7 + (i >> 8)) % 251;
    }

    return bytes;
};


// A body of a known length arriving in pieces, as a recording or an upload does

const slices = function* (body: Buffer, size = 64 * 1024) {

    for (let i = 0; i < body.length; i += size) {
        yield body.subarray(i, i + size);
    }
};

const pieces = (body: Buffer) => Readable.from(slices(body));


const statusOf = (err: unknown) => (err as { output?: { statusCode: number } }).output?.statusCode;


describe('storage keys', () => {

    it('refuses keys that climb out or are not plain paths', () => {

        for (const key of ['/etc/passwd', '../outside', 'a/../../b', 'a//b', 'a/./b', '', 'a/', 'spaces here', 'semi;colon', 'ü.wav']) {
            expect(() => checkKey(key), key).to.throw(/Invalid storage key/);
        }

        expect(checkKey('recordings/t-1/c_2.v1.wav')).to.equal('recordings/t-1/c_2.v1.wav');
    });
});


// What every backend of the storage slot does, whatever keeps the bytes

const behavesAsStorage = (backend: () => Storage) => {

    it('puts a stream under its key and gets it back', async () => {

        const body = pattern(100_000);
        expect(await backend().put('recordings/tenant-1/call-1.wav', Readable.from([body.subarray(0, 50_000), body.subarray(50_000)]), 'audio/wav')).to.equal({ key: 'recordings/tenant-1/call-1.wav', size: 100_000 });
        expect(await read(await backend().get('recordings/tenant-1/call-1.wav'))).to.equal(body);
    });

    it('counts the bytes of text written as UTF-8', async () => {

        expect(await backend().put('notes/u.txt', Readable.from(['naïve ', 'café']))).to.equal({ key: 'notes/u.txt', size: 12 });
        expect((await read(await backend().get('notes/u.txt'))).toString()).to.equal('naïve café');
    });

    it('replaces an object whole, and keeps the old one when the new stream fails', async () => {

        const storage = backend();
        await storage.put('a.txt', Readable.from(['first']));
        await storage.put('a.txt', Readable.from(['second']));
        expect((await read(await storage.get('a.txt'))).toString()).to.equal('second');

        const failing = new Readable({
            read() {

                this.push('half');
                this.destroy(new Error('connection lost'));
            }
        });

        await expect(storage.put('a.txt', failing)).to.reject(/connection lost/);
        expect((await read(await storage.get('a.txt'))).toString()).to.equal('second');
    });

    it('reads exactly the bytes of a range, both ends included', async () => {

        const storage = backend();
        const body = pattern(300_000);
        await storage.put('ranged.bin', pieces(body));

        expect(await read(await storage.get('ranged.bin', { start: 0, end: 1 }))).to.equal(body.subarray(0, 2));
        expect(await read(await storage.get('ranged.bin', { start: 1000, end: 1999 }))).to.equal(body.subarray(1000, 2000));
        expect(await read(await storage.get('ranged.bin', { start: 65_530, end: 200_000 }))).to.equal(body.subarray(65_530, 200_001));
        expect(await read(await storage.get('ranged.bin', { start: 299_999, end: 299_999 }))).to.equal(body.subarray(299_999));
        expect(await read(await storage.get('ranged.bin', { start: 299_000, end: 400_000 }))).to.equal(body.subarray(299_000));         // an end past the last byte stops there
    });

    it('tells the size of an object', async () => {

        const storage = backend();
        await storage.put('sized.bin', pieces(pattern(123_457)));
        expect(await storage.size('sized.bin')).to.equal(123_457);

        await storage.put('empty.bin', Readable.from([]));
        expect(await storage.size('empty.bin')).to.equal(0);
        expect(await read(await storage.get('empty.bin'))).to.equal(Buffer.alloc(0));
    });

    it('answers 404 for what is not there', async () => {

        const storage = backend();
        await storage.put('recordings/tenant-2/call-1.wav', Readable.from(['x']));

        for (const key of ['missing/file.wav', 'recordings', 'recordings/tenant-2', 'recordings/tenant-2/call-1.wav/deeper']) {
            const err = await expect(storage.get(key), key).to.reject(`No stored object '${key}'`);
            expect(statusOf(err), key).to.equal(404);
            expect(statusOf(await expect(storage.size(key), key).to.reject(`No stored object '${key}'`)), key).to.equal(404);
        }

        expect(statusOf(await expect(storage.get('missing/file.wav', { start: 0, end: 9 })).to.reject())).to.equal(404);
    });

    it('removes, and removing what is gone is fine', async () => {

        const storage = backend();
        await storage.put('gone.txt', Readable.from(['x']));
        await storage.remove('gone.txt');
        await storage.remove('gone.txt');
        await expect(storage.get('gone.txt')).to.reject(/No stored object/);
        await expect(storage.size('gone.txt')).to.reject(/No stored object/);
    });

    it('refuses bad keys in every operation', async () => {

        const storage = backend();
        await expect(storage.put('../x', Readable.from(['x']))).to.reject(/Invalid storage key/);
        await expect(storage.get('a//b')).to.reject(/Invalid storage key/);
        await expect(storage.size('/etc/passwd')).to.reject(/Invalid storage key/);
        await expect(storage.remove('../x')).to.reject(/Invalid storage key/);

        const err = await expect(storage.get('../x')).to.reject();
        expect(statusOf(err)).to.equal(400);
    });

    it('streams a body of several megabytes through', async () => {

        const storage = backend();
        const body = pattern(12 * 1024 * 1024 + 3);
        expect(await storage.put('large.bin', pieces(body))).to.equal({ key: 'large.bin', size: body.length });
        expect(await storage.size('large.bin')).to.equal(body.length);
        expect((await read(await storage.get('large.bin'))).equals(body)).to.be.true();
        expect(await read(await storage.get('large.bin', { start: 5 * 1024 * 1024 - 2, end: 5 * 1024 * 1024 + 1 }))).to.equal(body.subarray(5 * 1024 * 1024 - 2, 5 * 1024 * 1024 + 2));
    });

    it('keeps the old object when a large stream fails partway', async () => {

        const storage = backend();
        await storage.put('large-failing.bin', Readable.from(['old']));

        const failing = Readable.from((function* () {

            yield* slices(pattern(11 * 1024 * 1024));
            throw new Error('connection lost');
        })());

        await expect(storage.put('large-failing.bin', failing)).to.reject(/connection lost/);
        expect((await read(await storage.get('large-failing.bin'))).toString()).to.equal('old');
    });
};


describe('local storage', () => {

    let root: string;
    let storage: Storage;

    before(() => {

        root = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-storage-'));
        storage = folderStorage(root);
    });

    after(() => Fs.rmSync(root, { recursive: true, force: true }));

    behavesAsStorage(() => storage);

    it('keeps each object as a file at its key', async () => {

        await storage.put('recordings/tenant-3/call-1.wav', Readable.from(['RIFF']));
        expect(Fs.readdirSync(Path.join(root, 'recordings/tenant-3'))).to.equal(['call-1.wav']);
        expect(Fs.readFileSync(Path.join(root, 'recordings/tenant-3/call-1.wav'), 'utf8')).to.equal('RIFF');
    });

    it('leaves no temporary file behind when a stream fails', async () => {

        const failing = new Readable({
            read() {

                this.destroy(new Error('connection lost'));
            }
        });

        await expect(storage.put('b.txt', failing)).to.reject(/connection lost/);
        expect(Fs.readdirSync(root).filter((name) => name.startsWith('.b.txt'))).to.equal([]);
    });

    it('does not hide other failures as 404', async () => {

        Fs.symlinkSync(Path.join(root, 'loop-b'), Path.join(root, 'loop-a'));
        Fs.symlinkSync(Path.join(root, 'loop-a'), Path.join(root, 'loop-b'));
        await expect(storage.get('loop-a')).to.reject(/ELOOP/);
        await expect(storage.size('loop-a')).to.reject(/ELOOP/);
    });

    it('is the local backend of the storage slot, rooted at STORAGE_DIR', async () => {

        const harness = await startServer({ storageDir: root });
        try {
            const slot = harness.server.plugins.core.providers.get('storage');
            await slot.put('from-slot.txt', Readable.from(['hello']));
            expect(Fs.readFileSync(Path.join(root, 'from-slot.txt'), 'utf8')).to.equal('hello');
        }
        finally {
            await harness.cleanup();
        }
    });
});


describe('s3 storage', () => {

    const bucket = 'talky-test';
    const events: string[] = [];

    let directory: string;
    let server: S3rver;
    let options: S3Options;
    let raw: S3Client;
    let storage: Storage;

    before(async () => {

        directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-s3rver-'));
        server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
        server.on('event', (event: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => events.push(`${event.Records[0].eventName} ${event.Records[0].s3.object.key}`));
        const { port } = await server.run();

        options = {
            bucket,
            endpoint: `http://127.0.0.1:${port}`,
            region: 'us-east-1',
            accessKeyId: 'S3RVER',
            secretAccessKey: 'S3RVER',
            forcePathStyle: true,
            prefix: ''
        };

        raw = new S3Client({ region: options.region, endpoint: options.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
        storage = s3Storage(options);
    });

    after(async () => {

        raw.destroy();
        await server.close();
        Fs.rmSync(directory, { recursive: true, force: true });
    });

    behavesAsStorage(() => storage);

    it('sends a small body in one request and a large one in parts', async () => {

        events.length = 0;
        await storage.put('one-piece.bin', pieces(pattern(1024 * 1024)));
        await storage.put('in-parts.bin', pieces(pattern(11 * 1024 * 1024)));
        expect(events).to.equal(['ObjectCreated:Put one-piece.bin', 'ObjectCreated:Post in-parts.bin']);          // s3rver reports a completed multipart upload as Post
    });

    it('sends a store at its own endpoint only the checksums an operation requires', async () => {

        const headers: string[] = [];
        const listen = (request: { headers: Record<string, unknown> }) => headers.push(...Object.keys(request.headers));
        server.httpServer.on('request', listen);
        try {
            await storage.put('checked.bin', pieces(pattern(11 * 1024 * 1024)));
            await storage.put('checked.txt', Readable.from(['x']));
            await read(await storage.get('checked.txt'));
        }
        finally {
            server.httpServer.off('request', listen);
        }

        expect(headers).to.include(['authorization', 'content-length']);
        expect(headers.filter((name) => /checksum|trailer/.test(name))).to.equal([]);
    });

    it('keeps objects under the prefix, with their content type', async () => {

        const prefixed = s3Storage({ ...options, prefix: 'talky/media/' });
        expect(await prefixed.put('recordings/t/c.wav', Readable.from(['RIFF']), 'audio/wav')).to.equal({ key: 'recordings/t/c.wav', size: 4 });

        const stored = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: 'talky/media/recordings/t/c.wav' }));
        expect(stored.ContentType).to.equal('audio/wav');
        expect(await stored.Body!.transformToString()).to.equal('RIFF');

        expect(await prefixed.size('recordings/t/c.wav')).to.equal(4);
        await expect(storage.get('recordings/t/c.wav')).to.reject(/No stored object/);
        expect(await storage.size('talky/media/recordings/t/c.wav')).to.equal(4);

        await prefixed.remove('recordings/t/c.wav');
        await expect(storage.get('talky/media/recordings/t/c.wav')).to.reject(/No stored object/);
    });

    it('names the operation and key when the store fails, without calling it a 404', async () => {

        const nowhere = s3Storage({ ...options, bucket: 'no-such-bucket' });
        const err = await expect(nowhere.get('a.txt')).to.reject(/^S3 get of 'a.txt' failed: /);
        expect(statusOf(err)).to.equal(500);
        await expect(nowhere.put('a.txt', Readable.from(['x']))).to.reject(/^S3 put of 'a.txt' failed: /);
        await expect(nowhere.remove('a.txt')).to.reject(/^S3 remove of 'a.txt' failed: /);

        const stranger = s3Storage({ ...options, accessKeyId: 'STRANGER', secretAccessKey: 'wrong' });
        await expect(stranger.size('a.txt')).to.reject(/^S3 size of 'a.txt' failed: /);
        expect(statusOf(await expect(stranger.get('a.txt')).to.reject(/^S3 get of 'a.txt' failed: /))).to.equal(500);
    });

    it('is the s3 backend of the storage slot, chosen by STORAGE_BACKEND', async () => {

        const harness = await startServer({
            storageBackend: 's3',
            s3Bucket: bucket,
            s3Endpoint: options.endpoint,
            s3AccessKeyId: 'S3RVER',
            s3SecretAccessKey: 'S3RVER',
            s3ForcePathStyle: true,
            s3Prefix: 'slot/'
        });

        try {
            const slot = harness.server.plugins.core.providers.get('storage');
            await slot.put('from-slot.txt', Readable.from(['hello']));
            const stored = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: 'slot/from-slot.txt' }));
            expect(await stored.Body!.transformToString()).to.equal('hello');
        }
        finally {
            await harness.cleanup();
        }
    });
});
