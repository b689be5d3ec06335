import { backendContract } from './backend-contract';
import { memoryFixture } from './fixtures';

backendContract(memoryFixture);
