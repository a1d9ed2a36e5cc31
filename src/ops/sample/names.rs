//! Word lists for the synthetic population: Kazakh and Russian names, cities with
//! their regions, postcodes and coordinates, streets, employers, banks, devices and
//! the other vocabulary a 1Kredit-like lender's rows are made of, plus the
//! transliteration used for emails and card holder names.

/// Kazakh male given names; each also serves as a father's name for patronymics.
pub const KAZAKH_MALE: &[&str] = &[
    "Нұрлан",
    "Ерлан",
    "Асхат",
    "Дәурен",
    "Бауыржан",
    "Ержан",
    "Серік",
    "Қанат",
    "Марат",
    "Ғалым",
    "Айдос",
    "Арман",
    "Жандос",
    "Нұрсұлтан",
    "Алихан",
    "Темірлан",
    "Данияр",
    "Ерболат",
    "Бекзат",
    "Әділет",
    "Санжар",
    "Мейірхан",
    "Олжас",
    "Елдос",
    "Руслан",
    "Ислам",
    "Дамир",
    "Самат",
    "Төлеген",
    "Бақытжан",
    "Қайрат",
    "Мұрат",
    "Азамат",
    "Нұржан",
    "Аслан",
    "Ақылбек",
    "Жасұлан",
    "Ернар",
    "Сұлтан",
    "Әлішер",
];

/// Kazakh female given names.
pub const KAZAKH_FEMALE: &[&str] = &[
    "Айгерім",
    "Әсел",
    "Гүлнар",
    "Динара",
    "Жанар",
    "Аружан",
    "Ақбота",
    "Мөлдір",
    "Назерке",
    "Салтанат",
    "Айжан",
    "Гүлмира",
    "Жазира",
    "Меруерт",
    "Балжан",
    "Ләззат",
    "Айнұр",
    "Томирис",
    "Дана",
    "Інкәр",
    "Әйгерім",
    "Камила",
    "Толқын",
    "Үміт",
    "Ботагөз",
    "Шынар",
    "Сәуле",
    "Ақмарал",
    "Дильназ",
    "Айым",
    "Гаухар",
    "Ұлжан",
    "Жұлдыз",
    "Индира",
];

/// Kazakh surnames in the male form (-ов, -ев, -ин); the female form adds `а`.
pub const KAZAKH_SURNAMES: &[&str] = &[
    "Нұрланов",
    "Ахметов",
    "Сейітов",
    "Жұмабаев",
    "Қасымов",
    "Тоқаев",
    "Бекмұхамбетов",
    "Омаров",
    "Әбдірахманов",
    "Серікбаев",
    "Құнанбаев",
    "Сәтбаев",
    "Есенов",
    "Ибраев",
    "Мұхамеджанов",
    "Тұрсынов",
    "Байжанов",
    "Оспанов",
    "Жақсылықов",
    "Сүлейменов",
    "Әлиев",
    "Исабеков",
    "Қожахметов",
    "Рахимов",
    "Смағұлов",
    "Бектұров",
    "Дүйсенов",
    "Шәкенов",
    "Мамыров",
    "Ержанов",
    "Айтжанов",
    "Балтабаев",
    "Кенжебаев",
    "Нұрпейісов",
    "Жаксыбеков",
    "Абдуллин",
    "Мусин",
    "Бейсенов",
    "Қалиев",
    "Утегенов",
];

/// Russian male given names.
pub const RUSSIAN_MALE: &[&str] = &[
    "Александр",
    "Сергей",
    "Дмитрий",
    "Андрей",
    "Алексей",
    "Максим",
    "Евгений",
    "Иван",
    "Михаил",
    "Николай",
    "Владимир",
    "Павел",
    "Артём",
    "Виктор",
    "Игорь",
    "Олег",
    "Роман",
    "Денис",
    "Константин",
    "Юрий",
];

/// Russian female given names.
pub const RUSSIAN_FEMALE: &[&str] = &[
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Анна",
    "Мария",
    "Екатерина",
    "Юлия",
    "Анастасия",
    "Людмила",
    "Оксана",
    "Виктория",
    "Дарья",
    "Марина",
    "Галина",
    "Ксения",
    "Алёна",
    "Полина",
];

/// Russian surnames in the male form; the female form adds `а`.
pub const RUSSIAN_SURNAMES: &[&str] = &[
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Макаров",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Белов",
    "Ковалёв",
    "Ильин",
    "Гусев",
    "Титов",
];

/// Russian-style patronymics: (male, female).
pub const RUSSIAN_PATRONYMICS: &[(&str, &str)] = &[
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Андреевич", "Андреевна"),
    ("Алексеевич", "Алексеевна"),
    ("Владимирович", "Владимировна"),
    ("Николаевич", "Николаевна"),
    ("Викторович", "Викторовна"),
    ("Игоревич", "Игоревна"),
    ("Олегович", "Олеговна"),
    ("Юрьевич", "Юрьевна"),
    ("Павлович", "Павловна"),
    ("Михайлович", "Михайловна"),
    ("Иванович", "Ивановна"),
];

/// Kazakh fathers' names in the Russian spelling, for `-ович`/`-овна` patronymics of
/// Kazakh families (Нурланович, Ерлановна).
pub const KAZAKH_FATHERS_RUSSIAN_STYLE: &[(&str, &str)] = &[
    ("Нурланович", "Нурлановна"),
    ("Ерланович", "Ерлановна"),
    ("Асхатович", "Асхатовна"),
    ("Маратович", "Маратовна"),
    ("Серикович", "Сериковна"),
    ("Канатович", "Канатовна"),
    ("Бауржанович", "Бауржановна"),
    ("Ержанович", "Ержановна"),
    ("Муратович", "Муратовна"),
    ("Кайратович", "Кайратовна"),
    ("Талгатович", "Талгатовна"),
    ("Болатович", "Болатовна"),
];

/// A city: name, region (as of the 2022 reform), postcode, latitude, longitude, and
/// a relative weight roughly in line with its population.
pub struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub postcode: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub weight: u32,
}

const fn city(
    name: &'static str,
    region: &'static str,
    postcode: &'static str,
    latitude: f64,
    longitude: f64,
    weight: u32,
) -> City {
    City {
        name,
        region,
        postcode,
        latitude,
        longitude,
        weight,
    }
}

pub const CITIES: &[City] = &[
    city("Алматы", "город Алматы", "050000", 43.2380, 76.8890, 22),
    city("Астана", "город Астана", "010000", 51.1690, 71.4490, 14),
    city("Шымкент", "город Шымкент", "160000", 42.3410, 69.5900, 11),
    city(
        "Караганда",
        "Карагандинская область",
        "100000",
        49.8060,
        73.0850,
        5,
    ),
    city(
        "Актобе",
        "Актюбинская область",
        "030000",
        50.2830,
        57.1670,
        5,
    ),
    city("Тараз", "Жамбылская область", "080000", 42.9000, 71.3670, 4),
    city(
        "Павлодар",
        "Павлодарская область",
        "140000",
        52.2870,
        76.9670,
        4,
    ),
    city(
        "Усть-Каменогорск",
        "Восточно-Казахстанская область",
        "070000",
        49.9480,
        82.6280,
        4,
    ),
    city("Семей", "Абайская область", "071400", 50.4110, 80.2270, 3),
    city(
        "Атырау",
        "Атырауская область",
        "060000",
        47.1170,
        51.8830,
        3,
    ),
    city(
        "Костанай",
        "Костанайская область",
        "110000",
        53.2140,
        63.6240,
        3,
    ),
    city(
        "Кызылорда",
        "Кызылординская область",
        "120000",
        44.8530,
        65.5090,
        3,
    ),
    city(
        "Уральск",
        "Западно-Казахстанская область",
        "090000",
        51.2330,
        51.3670,
        3,
    ),
    city(
        "Петропавловск",
        "Северо-Казахстанская область",
        "150000",
        54.8670,
        69.1500,
        2,
    ),
    city(
        "Актау",
        "Мангистауская область",
        "130000",
        43.6500,
        51.1600,
        2,
    ),
    city(
        "Туркестан",
        "Туркестанская область",
        "161200",
        43.2970,
        68.2510,
        2,
    ),
    city(
        "Кокшетау",
        "Акмолинская область",
        "020000",
        53.2830,
        69.3830,
        2,
    ),
    city(
        "Талдыкорган",
        "область Жетісу",
        "040000",
        45.0170,
        78.3830,
        2,
    ),
    city(
        "Экибастуз",
        "Павлодарская область",
        "141200",
        51.7230,
        75.3230,
        1,
    ),
    city("Жезказган", "область Ұлытау", "100600", 47.7830, 67.7670, 1),
];

pub const STREETS: &[&str] = &[
    "проспект Абая",
    "улица Толе би",
    "проспект Достык",
    "улица Сатпаева",
    "улица Кабанбай батыра",
    "проспект Республики",
    "улица Байтурсынова",
    "улица Абылай хана",
    "улица Жамбыла",
    "улица Бухар жырау",
    "улица Мухтара Ауэзова",
    "улица Гагарина",
    "улица Пушкина",
    "улица Сейфуллина",
    "проспект Туран",
    "улица Кенесары",
    "улица Иманова",
    "улица Желтоксан",
    "микрорайон Самал",
    "микрорайон Аксай",
    "улица Момышулы",
    "улица Торайгырова",
    "улица Ленина",
    "улица Мира",
    "улица Айтеке би",
    "улица Назарбаева",
];

pub const CONTACT_RELATIONS: &[&str] = &[
    "мать",
    "отец",
    "супруг(а)",
    "брат",
    "сестра",
    "коллега",
    "друг",
    "сын",
    "дочь",
];

pub const POSITIONS: &[&str] = &[
    "менеджер",
    "бухгалтер",
    "водитель",
    "продавец-консультант",
    "инженер",
    "учитель",
    "медсестра",
    "оператор call-центра",
    "кассир",
    "программист",
    "охранник",
    "повар",
    "строитель",
    "экономист",
    "курьер",
    "юрист",
];

/// Fictional employers: the form of incorporation and the name.
pub const EMPLOYER_FORMS: &[&str] = &["ТОО", "АО", "ИП", "ГКП на ПХВ", "КГУ"];
pub const EMPLOYER_WORDS: &[&str] = &[
    "Алтын Дала",
    "Береке",
    "Жетісу Логистик",
    "Сарыарқа Строй",
    "Номад Сервис",
    "Каспий Трейд",
    "Тараз Агро",
    "Ертіс Энерго",
    "Дала Фарм",
    "Астана Медиа",
    "Барыс Секьюрити",
    "Шыңғыс Транс",
    "Қазына Маркет",
    "Ақ Жол",
    "Оңтүстік Жарық",
    "Арай Билдинг",
    "Көктем Дизайн",
    "Тұран Тех",
    "Степной Хлеб",
    "Мега Ойл",
];

/// Card issuers' BIN prefixes (first six PAN digits) seen on Kazakh cards.
pub const CARD_PREFIXES: &[&str] = &["440043", "400303", "510092", "548601", "427427", "539545"];

/// Kazakh banks: the 3-digit code inside a KZ IBAN and the BIC.
pub const BANKS: &[(&str, &str)] = &[
    ("722", "CASPKZKA"),
    ("601", "HSBKKZKX"),
    ("965", "IRTYKZKA"),
    ("998", "TSESKZKA"),
    ("856", "KCJBKZKX"),
    ("551", "KSNVKZKA"),
];

/// Mobile operator codes after +7: Beeline 705/771/777, Kcell and activ
/// 701/702/775/778, Tele2 and Altel 707/747/700/708.
pub const MOBILE_CODES: &[&str] = &[
    "700", "701", "702", "705", "707", "708", "747", "771", "775", "777", "778",
];

/// App installs: operating system, device model, browser (web sessions only).
pub const DEVICES: &[(&str, &str, Option<&str>)] = &[
    ("Android 14", "Samsung Galaxy A54", None),
    ("Android 13", "Samsung Galaxy A34", None),
    ("Android 13", "Xiaomi Redmi Note 12", None),
    ("Android 12", "Xiaomi Redmi 10", None),
    ("Android 14", "Realme C55", None),
    ("Android 11", "Samsung Galaxy A12", None),
    ("iOS 17", "iPhone 13", None),
    ("iOS 16", "iPhone 11", None),
    ("iOS 17", "iPhone 15 Pro", None),
    ("Windows 10", "PC", Some("Chrome 120")),
    ("Windows 11", "PC", Some("Edge 121")),
    ("macOS 14", "MacBook Air", Some("Safari 17")),
];

pub const USAGE_EVENTS: &[&str] = &["screen_view", "tap", "form_submit", "error", "scroll"];
pub const SCREENS: &[&str] = &[
    "home",
    "loan_calculator",
    "loan_application",
    "profile",
    "documents",
    "payment",
    "support",
    "login",
    "notifications",
    "cabinet_history",
];

/// Requests in the server log: method, path.
pub const REQUESTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/profile"),
    ("GET", "/api/v1/loans"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/otp"),
    ("GET", "/api/v1/loans/offer"),
    ("POST", "/api/v1/loans/apply"),
    ("POST", "/api/v1/payments"),
    ("GET", "/cabinet"),
    ("GET", "/static/app.js"),
    ("PUT", "/api/v1/profile/contacts"),
    ("POST", "/api/v1/documents/upload"),
    ("GET", "/api/v1/notifications"),
];

/// What consents are given for (the policy's clause 4 purposes, and marketing).
pub const CONSENT_PURPOSES: &[&str] = &[
    "identification",
    "personalised_access",
    "services",
    "notices",
    "location_security",
    "accuracy_check",
    "support",
    "marketing",
];

/// Third parties: recipient, purpose, legal basis, categories disclosed.
pub const CREDIT_BUREAU: (&str, &str, &str, &[&str]) = (
    "ТОО «Первое кредитное бюро» (ПКБ / First Credit Bureau)",
    "credit_history_report",
    "Law on Credit Bureaus, Art. 18; borrower consent",
    &["name", "iin", "birth_date", "microcredit"],
);
pub const STATE_CREDIT_BUREAU: (&str, &str, &str, &[&str]) = (
    "АО «Государственное кредитное бюро»",
    "credit_history_report",
    "Law on Credit Bureaus, Art. 18; borrower consent",
    &["name", "iin", "microcredit"],
);
pub const COLLECTORS: &[&str] = &[
    "ТОО «Коллекторское агентство Долг Контроль»",
    "ТОО «КА Эксперт Финанс»",
    "ТОО «Казахстанское коллекторское агентство»",
];
pub const COLLECTOR_CATEGORIES: &[&str] =
    &["name", "phone", "contact_person", "address", "microcredit"];
pub const SCORING_PARTNER: (&str, &str, &str, &[&str]) = (
    "ТОО «Скоринг Плюс»",
    "credit_scoring",
    "borrower consent (policy 7.2)",
    &["iin", "phone", "device", "ip_address"],
);

/// Support message bodies; `{phone}` is replaced by a phone number where present.
pub const SUPPORT_BODIES: &[&str] = &[
    "Здравствуйте! Не могу войти в личный кабинет, код из SMS не приходит.",
    "Прошу продлить срок погашения займа на 10 дней.",
    "Оплатил через терминал, но платёж не отображается.",
    "Сәлеметсіз бе! Несиені мерзімінен бұрын қалай өтеуге болады?",
    "Поменялся номер телефона, новый номер {phone}. Прошу обновить данные.",
    "Прошу выслать справку об отсутствии задолженности.",
    "Почему отказали в займе? Хочу узнать причину.",
    "Жеке кабинетке кіре алмаймын, көмектесіңізші.",
    "Прошу удалить мои данные и отозвать согласие на рассылку.",
    "Кто-то оформил займ на моё имя, я не подавал заявку! Мой номер {phone}.",
];

/// Latin letters for a Cyrillic (Russian and Kazakh) letter, lowercase.
fn latin(c: char) -> &'static str {
    match c {
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ғ' => "g",
        'д' => "d",
        'е' | 'ё' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'й' | 'і' => "i",
        'к' | 'қ' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' => "u",
        'ф' => "f",
        'х' | 'һ' => "kh",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "shch",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        _ => "",
    }
}

/// Lowercase Latin transliteration, as people spell their names in emails and on
/// cards (`Айгерім` -> `aigerim`).
pub fn transliterate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(latin(c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration_covers_kazakh_letters() {
        assert_eq!(transliterate("Айгерім"), "aigerim");
        assert_eq!(transliterate("Жұмабаев"), "zhumabaev");
        assert_eq!(transliterate("Ғалым Қасымов"), "galymkasymov");
        for name in KAZAKH_MALE
            .iter()
            .chain(KAZAKH_FEMALE)
            .chain(KAZAKH_SURNAMES)
        {
            let latin = transliterate(name);
            assert!(latin.len() >= 2, "{name}");
            assert!(latin.bytes().all(|b| b.is_ascii_lowercase()), "{name}");
        }
    }
}
