import Crypto from 'crypto';
import Fs from 'fs';
import Path from 'path';
import { pipeline } from 'stream/promises';

import Boom from '@hapi/boom';

import { checkKey, type Storage } from './backend';


const missing = (err: unknown) => ['ENOENT', 'EISDIR', 'ENOTDIR'].includes(String((err as { code?: string }).code));

const notFound = (err: unknown, key: string) => (missing(err) ? Boom.notFound(`No stored object '${key}'`) : err);


// A folder: each object is a file at its key. Writes go to a temporary file renamed into place,
// so a reader never sees half an object.

export const folderStorage = (root: string): Storage => {

    const pathOf = (key: string) => Path.join(root, checkKey(key));

    const open = async (key: string) => {

        const handle = await Fs.promises.open(pathOf(key), 'r');
        if (!(await handle.stat()).isFile()) {
            await handle.close();
            throw Object.assign(new Error('Not a file'), { code: 'EISDIR' });
        }

        return handle;
    };

    return {
        async put(key, body) {

            const path = pathOf(key);
            await Fs.promises.mkdir(Path.dirname(path), { recursive: true });
            const temporary = Path.join(Path.dirname(path), `.${Path.basename(path)}.${Crypto.randomBytes(6).toString('hex')}.tmp`);
            try {
                await pipeline(body, Fs.createWriteStream(temporary, { flags: 'wx' }));
                const { size } = await Fs.promises.stat(temporary);
                await Fs.promises.rename(temporary, path);
                return { key, size };
            }
            catch (err) {
                await Fs.promises.rm(temporary, { force: true });
                throw err;
            }
        },

        async get(key, range) {

            try {
                const handle = await open(key);
                return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
            }
            catch (err) {
                throw notFound(err, key);
            }
        },

        async size(key) {

            try {
                const handle = await open(key);
                try {
                    return (await handle.stat()).size;
                }
                finally {
                    await handle.close();
                }
            }
            catch (err) {
                throw notFound(err, key);
            }
        },

        async remove(key) {

            await Fs.promises.rm(pathOf(key), { force: true });
        }
    };
};
