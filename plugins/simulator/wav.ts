// A small valid WAV file of silence: what the simulator serves as a call's recording

export const silentWav = (seconds: number, channels: number, rate = 16000) => {

    const data = Math.round(seconds * rate) * channels * 2;
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + data, 4);
    header.write('WAVE', 8);
    header.write('fmt ', 12);
    header.writeUInt32LE(16, 16);                          // PCM format chunk
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(channels, 22);
    header.writeUInt32LE(rate, 24);
    header.writeUInt32LE(rate * channels * 2, 28);
    header.writeUInt16LE(channels * 2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(data, 40);
    return Buffer.concat([header, Buffer.alloc(data)]);
};
