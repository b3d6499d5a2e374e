// @echogarden/fvad-wasm ships no types: its default export makes the emscripten module

declare module '@echogarden/fvad-wasm' {
    const factory: () => Promise<unknown>;
    export default factory;
}
