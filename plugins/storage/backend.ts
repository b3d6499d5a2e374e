import type { Readable } from 'stream';


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


declare module '../../core/providers' {
    interface ProviderSlots {
        storage: Storage;
    }
}
