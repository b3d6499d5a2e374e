import Fs from 'fs';
import Os from 'os';
import Path from 'path';
import { Readable } from 'stream';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import type { Storage } from '../plugins/storage/backend';
import { checkKey, folderStorage } from '../plugins/storage/local';
import { startServer } from './lib/harness';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const read = async (stream: Readable) => {

    const chunks: Buffer[] = [];
    for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
    }

    return Buffer.concat(chunks);
};


describe('storage', () => {

    let root: string;
    let storage: Storage;

    before(() => {

        root = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-storage-'));
        storage = folderStorage(root);
    });

    after(() => Fs.rmSync(root, { recursive: true, force: true }));

    it('puts a stream under its key and gets it back', async () => {

        const body = Buffer.alloc(100_000, 7);
        expect(await storage.put('recordings/tenant-1/call-1.wav', Readable.from([body.subarray(0, 50_000), body.subarray(50_000)]), 'audio/wav')).to.equal({ key: 'recordings/tenant-1/call-1.wav', size: 100_000 });
        expect(await read(await storage.get('recordings/tenant-1/call-1.wav'))).to.equal(body);
        expect(Fs.readdirSync(Path.join(root, 'recordings/tenant-1'))).to.equal(['call-1.wav']);
    });

    it('replaces an object whole, and leaves nothing behind when the stream fails', async () => {

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
        expect(Fs.readdirSync(root).filter((name) => name.endsWith('.tmp'))).to.equal([]);
    });

    it('answers 404 for what is not there', async () => {

        const err = await expect(storage.get('missing/file.wav')).to.reject();
        expect((err as { output: { statusCode: number } }).output.statusCode).to.equal(404);
        await expect(storage.get('recordings')).to.reject(/No stored object/);
        await expect(storage.get('recordings/tenant-1/call-1.wav/deeper')).to.reject(/No stored object/);

        Fs.symlinkSync(Path.join(root, 'loop-b'), Path.join(root, 'loop-a'));
        Fs.symlinkSync(Path.join(root, 'loop-a'), Path.join(root, 'loop-b'));
        await expect(storage.get('loop-a')).to.reject(/ELOOP/);              // other failures are not hidden as 404
    });

    it('removes, and removing what is gone is fine', async () => {

        await storage.put('gone.txt', Readable.from(['x']));
        await storage.remove('gone.txt');
        await storage.remove('gone.txt');
        await expect(storage.get('gone.txt')).to.reject(/No stored object/);
    });

    it('refuses keys that climb out or are not plain paths', async () => {

        for (const key of ['/etc/passwd', '../outside', 'a/../../b', 'a//b', 'a/./b', '', 'a/', 'spaces here', 'semi;colon', 'ü.wav']) {
            expect(() => checkKey(key), key).to.throw(/Invalid storage key/);
        }

        expect(checkKey('recordings/t-1/c_2.v1.wav')).to.equal('recordings/t-1/c_2.v1.wav');
        await expect(storage.put('../x', Readable.from(['x']))).to.reject(/Invalid storage key/);
        await expect(storage.remove('../x')).to.reject(/Invalid storage key/);
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
