// The hash slot function ioredis itself routes with (the package ships no types).
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
