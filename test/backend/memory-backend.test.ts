import { backendContract } from './backend-contract';
import { memoryFixture } from './fixtures';
import { storageContract } from './storage-contract';

backendContract(memoryFixture);
storageContract(memoryFixture);
