export { CitiesStore, type AddResult, type CityPage, type SavedCity } from './cities-store';
export { citiesRoutes } from './routes';
export { MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE } from './city-input';
