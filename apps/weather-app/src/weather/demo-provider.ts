import { matchKey, type City } from './city-input';
import {
  CityNotFoundError,
  temperatureUnitFor,
  type Units,
  type WeatherProvider,
  type WeatherReport,
} from './weather-report';

type DemoCity = { name: string; country: string; celsius: number; humidity: number; description: string };

// Typical late-November afternoons. Demo data is labelled as such wherever it is shown.
const DEMO_CITIES: readonly DemoCity[] = [
  { name: 'London', country: 'GB', celsius: 9.4, humidity: 81, description: 'light rain' },
  { name: 'Paris', country: 'FR', celsius: 10.2, humidity: 76, description: 'overcast clouds' },
  { name: 'Berlin', country: 'DE', celsius: 4.8, humidity: 84, description: 'broken clouds' },
  { name: 'Madrid', country: 'ES', celsius: 14.6, humidity: 58, description: 'clear sky' },
  { name: 'New York', country: 'US', celsius: 7.1, humidity: 62, description: 'few clouds' },
  { name: 'San Francisco', country: 'US', celsius: 15.3, humidity: 71, description: 'mist' },
  { name: 'Chicago', country: 'US', celsius: 2.2, humidity: 69, description: 'snow' },
  { name: 'Tokyo', country: 'JP', celsius: 13.9, humidity: 55, description: 'scattered clouds' },
  { name: 'Sydney', country: 'AU', celsius: 23.4, humidity: 64, description: 'clear sky' },
  { name: 'São Paulo', country: 'BR', celsius: 24.8, humidity: 78, description: 'thunderstorm' },
  { name: 'Mumbai', country: 'IN', celsius: 31.2, humidity: 66, description: 'haze' },
  { name: 'Cairo', country: 'EG', celsius: 22.5, humidity: 47, description: 'clear sky' },
  { name: 'Reykjavík', country: 'IS', celsius: 0.4, humidity: 79, description: 'light snow' },
  { name: 'Nairobi', country: 'KE', celsius: 21.7, humidity: 60, description: 'moderate rain' },
  { name: 'Toronto', country: 'CA', celsius: 3.6, humidity: 73, description: 'overcast clouds' },
  { name: 'Zürich', country: 'CH', celsius: 5.1, humidity: 88, description: 'fog' },
];

const DEMO_CITY_NAMES: readonly string[] = DEMO_CITIES.map((c) => c.name);
const DEMO_CITY_LIST = DEMO_CITY_NAMES.join(', ');
const CITIES_BY_PLACE = new Map(DEMO_CITIES.map((c) => [matchKey(c.name), c]));

/** The embedded offline provider: `npm start` works with no API key and no internet. */
export class DemoWeatherProvider implements WeatherProvider {
  readonly source = 'demo' as const;
  readonly knownCities = DEMO_CITY_NAMES;

  async getCurrentWeather(city: City, units: Units): Promise<WeatherReport> {
    // OpenWeather accepts "City,CC", case and accents aside; so does the demo (City.match is folded that way).
    const match = CITIES_BY_PLACE.get(city.match.place);
    if (!match || (city.match.country && city.match.country !== matchKey(match.country))) {
      // A real city outside the sample set ("Rome") is not misspelt: say what the demo knows instead.
      throw new CityNotFoundError(
        city.query,
        `Demo mode knows only these cities: ${DEMO_CITY_LIST}. "${city.query}" is not one of them; ` +
          'with OPENWEATHER_API_KEY set, the service looks up any city.',
      );
    }
    const temperature = units === 'metric' ? match.celsius : (match.celsius * 9) / 5 + 32;
    return {
      city: match.name,
      country: match.country,
      temperature: Math.round(temperature),
      temperatureUnit: temperatureUnitFor(units),
      humidity: match.humidity,
      description: match.description,
      units,
      source: 'demo',
      observedAt: new Date().toISOString(),
    };
  }
}
