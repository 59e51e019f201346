import { DEFAULT_CATALOG_CLIENT } from '../contract/defaults';

/**
 * The retries one author may spend in total, on top of each request's own limit. It grows with the
 * author's successful requests (an author with 2,000 pages may need more retries than one with 2), so
 * it only runs out when the service keeps failing a large share of requests: then the author fails
 * rather than hammering a sick service for hours.
 */
export class RetryBudget {
  private spent = 0;
  private successes = 0;

  /**
   * @param baseRetries retries allowed before any success. @default 30
   * @param retriesPerSuccess extra retries earned by each successful request. @default 0.5
   */
  constructor(
    private readonly baseRetries: number = DEFAULT_CATALOG_CLIENT.authorRetries,
    private readonly retriesPerSuccess: number = DEFAULT_CATALOG_CLIENT.authorRetriesPerSuccess,
  ) {}

  get remaining(): number {
    return Math.floor(this.baseRetries + this.successes * this.retriesPerSuccess) - this.spent;
  }

  onSuccess(): void {
    this.successes++;
  }

  spend(): void {
    this.spent++;
  }
}
