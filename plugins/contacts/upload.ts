import type { IncomingHttpHeaders } from 'http';
import { PassThrough, type Readable } from 'stream';

import Boom from '@hapi/boom';
import Busboy from 'busboy';


// Streams the file of one multipart field straight through, with backpressure: the upload is read
// only as fast as the import consumes it, so a large file is never held in memory.

export const multipartFile = (payload: Readable, headers: IncomingHttpHeaders, field: string, maxBytes: number) => {

    return new Promise<Readable>((resolve, reject) => {

        let busboy: Busboy.Busboy;
        try {
            busboy = Busboy({ headers, limits: { files: 1, fileSize: maxBytes, fields: 20, parts: 40 } });
        }
        catch {
            return reject(Boom.unsupportedMediaType(`Send the CSV as multipart/form-data in the field "${field}"`));
        }

        let found = false;
        busboy.on('file', (name, file) => {

            if (name !== field || found) {
                file.resume();
                return;
            }

            found = true;
            const out = new PassThrough();
            out.on('error', () => undefined);                   // the import reports it; this keeps a late one from going unhandled
            file.on('limit', () => out.destroy(Boom.entityTooLarge(`The file is larger than ${maxBytes} bytes`)));
            file.on('error', (err) => out.destroy(err));
            file.pipe(out);
            resolve(out);
        });

        busboy.on('error', (err) => reject(Boom.badRequest(`Malformed multipart body: ${(err as Error).message}`)));
        busboy.on('close', () => {

            if (!found) {
                reject(Boom.badRequest(`No file in the multipart field "${field}"`));
            }
        });

        payload.on('error', (err) => busboy.destroy(err));
        payload.pipe(busboy);
    });
};
