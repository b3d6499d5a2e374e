import Crypto from 'crypto';
import Fs from 'fs';
import Path from 'path';
import { pipeline } from 'stream/promises';

import Boom from '@hapi/boom';

import type { Storage } from './backend';


// Keys are relative paths of word characters, dots, dashes and slashes; none may climb out of
// the folder or name it

export const checkKey = (key: string) => {

    const segments = key.split('/');
    if (!/^[\w./-]+$/.test(key) || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
        throw Boom.badRequest(`Invalid storage key '${key}'`);
    }

    return key;
};


const missing = (err: unknown) => ['ENOENT', 'EISDIR', 'ENOTDIR'].includes(String((err as { code?: string }).code));


// A folder: each object is a file at its key. Writes go to a temporary file renamed into place,
// so a reader never sees half an object.

export const folderStorage = (root: string): Storage => {

    const pathOf = (key: string) => Path.join(root, checkKey(key));

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

        async get(key) {

            const path = pathOf(key);
            try {
                const handle = await Fs.promises.open(path, 'r');
                if (!(await handle.stat()).isFile()) {
                    await handle.close();
                    throw Object.assign(new Error('Not a file'), { code: 'EISDIR' });
                }

                return handle.createReadStream();
            }
            catch (err) {
                if (missing(err)) {
                    throw Boom.notFound(`No stored object '${key}'`);
                }

                throw err;
            }
        },

        async remove(key) {

            await Fs.promises.rm(pathOf(key), { force: true });
        }
    };
};
