import type { Readable } from 'stream';

import Boom from '@hapi/boom';


// The storage slot: where call recordings (and later other files) are kept. Keys are relative
// paths such as recordings/<tenant>/<call>.wav; a backend must refuse keys that climb out.

export interface StoredObject {
    key: string;
    size: number;
}

// Bytes start to end, both included, as HTTP's Range header counts them

export interface ByteRange {
    start: number;
    end: number;
}

export interface Storage {
    put(key: string, body: Readable, contentType?: string): Promise<StoredObject>;
    get(key: string, range?: ByteRange): Promise<Readable>;      // rejects with Boom.notFound when missing
    size(key: string): Promise<number>;                          // rejects with Boom.notFound when missing
    remove(key: string): Promise<void>;                          // missing is fine
}


// Keys are relative paths of word characters, dots, dashes and slashes; none may climb out of
// the folder or name it

export const checkKey = (key: string) => {

    const segments = key.split('/');
    if (!/^[\w./-]+$/.test(key) || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
        throw Boom.badRequest(`Invalid storage key '${key}'`);
    }

    return key;
};


declare module '../../core/providers' {
    interface ProviderSlots {
        storage: Storage;
    }
}
