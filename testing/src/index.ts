/** Helpers shared by the tests of both packages: embedded-PostgreSQL fixture, server fixture, real login. */
export {};
