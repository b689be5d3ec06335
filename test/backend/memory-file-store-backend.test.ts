import { backendContract } from './backend-contract';
import { memoryFixture } from './fixtures';
import { withFileStore } from './storage-fixtures';

backendContract(withFileStore(memoryFixture));
