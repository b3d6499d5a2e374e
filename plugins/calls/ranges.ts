import type { ByteRange } from '../storage/backend';


// A Range header read against an object of `size` bytes (RFC 9110, 14.1.2): one range of bytes,
// 'unsatisfiable' when it starts past the end, or null to send the whole object. Several ranges,
// another unit or a malformed header are ignored, as the RFC allows, rather than refused.

export const rangeOf = (header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null => {

    const match = header?.trim().match(/^bytes=(\d*)-(\d*)$/i);
    if (!match) {
        return null;
    }

    const [, first, last] = match as unknown as [string, string, string];
    if (first === '' && last === '') {
        return null;
    }

    // bytes=-n: the last n bytes, all of them when n is larger than the object

    if (first === '') {
        const length = Number(last);
        return length === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - length), end: size - 1 };
    }

    const start = Number(first);
    if (last !== '' && Number(last) < start) {
        return null;
    }

    if (start >= size) {
        return 'unsatisfiable';
    }

    return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
};
