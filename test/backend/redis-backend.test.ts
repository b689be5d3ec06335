import { backendContract } from './backend-contract';
import { redisFixture } from './fixtures';
import { storageContract } from './storage-contract';

backendContract(redisFixture());
storageContract(redisFixture());
