/** One section at a time per key: inside this process (KeyedMutex) or across replicas (RedisMutex). */
export type Mutex = {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
};
