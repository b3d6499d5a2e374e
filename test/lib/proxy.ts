import Net from 'net';


// A TCP proxy in front of a real PostgreSQL or Redis, so a test can cut the service off and bring
// it back on the same port while the server under test keeps its connection settings.

export class Proxy {

    port = 0;
    private server: Net.Server | null = null;
    private readonly sockets = new Set<Net.Socket>();

    constructor(private readonly target: { host: string; port: number }) { }

    async open() {

        if (this.server) {
            return;
        }

        const server = Net.createServer((client) => {

            const upstream = Net.connect(this.target);
            for (const socket of [client, upstream]) {
                this.sockets.add(socket);
                socket.on('close', () => this.sockets.delete(socket));
                socket.on('error', () => undefined);
            }

            client.pipe(upstream).pipe(client);
            client.on('close', () => upstream.destroy());
            upstream.on('close', () => client.destroy());
        });

        await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
        this.port = (server.address() as Net.AddressInfo).port;
        this.server = server;
    }

    async cut() {

        for (const socket of this.sockets) {
            socket.destroy();
        }

        const server = this.server;
        this.server = null;
        await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    }
}


// A port on which nothing listens

export const closedPort = async () => {

    const server = Net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as Net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
};
