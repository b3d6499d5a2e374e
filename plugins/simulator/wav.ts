import { wavHeader } from '../voice/audio';


// A small valid WAV file of silence: what the simulator serves as a call's recording

export const silentWav = (seconds: number, channels: number, rate = 16000) => {

    const data = Math.round(seconds * rate) * channels * 2;
    return Buffer.concat([wavHeader(rate, channels, data), Buffer.alloc(data)]);
};
