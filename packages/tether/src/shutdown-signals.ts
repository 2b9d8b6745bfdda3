import type { RunningService } from './service.js';

/**
 * SIGINT and SIGTERM start one graceful shutdown (exit 0 when it completes). Repeats during it are expected:
 * Ctrl-C under `npm start` reaches the server twice, from the terminal and forwarded by npm. So the second
 * signal is only acknowledged, and the third forces an immediate exit (130), as many servers do. Installed
 * before the service starts, so a signal during start-up waits for it and then stops it cleanly too.
 */
export function handleShutdownSignals(starting: Promise<RunningService>): void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      starting
        .then((service) => {
          service.log(`received ${signal}, shutting down`);
          return service.close();
        })
        .then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(`tether: shutdown failed: ${(error as Error).message}`);
            process.exit(1);
          },
        );
    } else if (received === 2) {
      void starting.then((service) =>
        service.log(`received ${signal} again, still shutting down; a third signal forces exit`),
      );
    } else {
      console.error(`tether: received ${signal} a third time, exiting without finishing the shutdown`);
      process.exit(130); // the embedded PostgreSQL still gets its fast-shutdown signal from the exit hook
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
