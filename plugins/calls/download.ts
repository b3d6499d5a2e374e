import Path from 'path';
import type { Readable } from 'stream';

import Boom from '@hapi/boom';

import type { Storage } from '../storage/backend';
import { rangeOf } from './ranges';


// What a recording's download sends: its bytes from the storage slot, whole or one range of
// them, read from storage as asked rather than read whole and cut.

const contentTypes: Record<string, string> = {
    '.wav': 'audio/wav',
    '.mp3': 'audio/mpeg'
};


export const contentTypeOf = (storageKey: string) => contentTypes[Path.extname(storageKey).toLowerCase()] ?? 'application/octet-stream';


export interface RecordingFile {
    id: string;
    call_id: string;
    storage_key: string;
}


// Named for the call, since the stored names (conversation.wav, the provider's id) say little
// once saved to a folder of downloads

export const filenameOf = (file: RecordingFile) => `call-${file.call_id}-${Path.basename(file.storage_key).replace(/[^\w.-]/g, '_')}`;


export interface Download {
    status: 200 | 206;
    headers: Record<string, string>;
    body: Readable;
}


// A row whose object has gone (removed by hand, a bucket emptied) is the caller's 404, not our 500

const stored = async <T>(read: Promise<T>): Promise<T> => {

    try {
        return await read;
    }
    catch (err) {
        throw Boom.isBoom(err, 404) ? Boom.notFound('The recording\'s audio is missing from storage') : err;
    }
};


// If-Range names a version of the object, and recordings carry no validator to compare it with:
// the RFC then asks for the whole object

export const open = async (storage: Storage, file: RecordingFile, request: { range?: string; 'if-range'?: string }): Promise<Download> => {

    const size = await stored(storage.size(file.storage_key));
    const range = request['if-range'] === undefined ? rangeOf(request.range, size) : null;
    if (range === 'unsatisfiable') {
        const error = Boom.rangeNotSatisfiable(`The recording has ${size} bytes; the range asked for is outside them`);
        error.output.headers['content-range'] = `bytes */${size}`;
        throw error;
    }

    const headers = {
        'content-type': contentTypeOf(file.storage_key),
        'accept-ranges': 'bytes',
        'content-disposition': `attachment; filename="${filenameOf(file)}"`
    };

    if (!range) {
        return { status: 200, headers: { ...headers, 'content-length': String(size) }, body: await stored(storage.get(file.storage_key)) };
    }

    return {
        status: 206,
        headers: { ...headers, 'content-length': String(range.end - range.start + 1), 'content-range': `bytes ${range.start}-${range.end}/${size}` },
        body: await stored(storage.get(file.storage_key, range))
    };
};
