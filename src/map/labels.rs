//! What the subject reads instead of identifiers: every personal-data category of
//! docs/policy.md 2.3 named in Kazakh, Russian and English (the Kazakh follows the
//! policy's own wording in clause 2.3), and retention periods in words.

use crate::map::{Category, Lang};
use crate::when::Period;

impl Category {
    /// The category's name for the subject, in `lang`.
    pub fn label(self, lang: Lang) -> &'static str {
        let [kk, ru, en] = self.labels();
        match lang {
            Lang::Kk => kk,
            Lang::Ru => ru,
            Lang::En => en,
        }
    }

    /// Kazakh, Russian, English.
    #[rustfmt::skip]
    fn labels(self) -> [&'static str; 3] {
        use Category::*;
        match self {
            Name => ["Тегі, аты, әкесінің аты", "Фамилия, имя, отчество", "Surname, first name, patronymic"],
            Iin => ["Жеке сәйкестендіру нөмірі (ЖСН)", "Индивидуальный идентификационный номер (ИИН)", "Individual identification number (IIN)"],
            Bin => ["Бизнес-сәйкестендіру нөмірі (БСН)", "Бизнес-идентификационный номер (БИН)", "Business identification number (BIN)"],
            Citizenship => ["Азаматтығы", "Гражданство", "Citizenship"],
            Sex => ["Жынысы", "Пол", "Sex"],
            BirthDate => ["Туған күні", "Дата рождения", "Date of birth"],
            Address => ["Тұрғылықты және/немесе тіркелген жерінің мекенжайы", "Адрес проживания и/или регистрации", "Address of residence and/or registration"],
            IdentityDocument => ["Жеке басын куәландыратын құжаттың деректері", "Данные документа, удостоверяющего личность", "Identity document details"],
            Phone => ["Телефон нөмірі", "Номер телефона", "Phone number"],
            ContactPerson => ["Байланысатын тұлғалар және олардың телефон нөмірлері", "Контактные лица и их номера телефонов", "Contact persons and their phone numbers"],
            Email => ["Электрондық пошта мекенжайы", "Адрес электронной почты", "Email address"],
            BankCard => ["Банктік картаның деректері", "Данные банковской карты", "Bank card details"],
            BankAccount => ["Банктік шоттың деректері", "Данные банковского счёта", "Bank account details"],
            Selfie => ["Онлайн-фотосурет (селфи)", "Онлайн-фотография (селфи)", "Online photo (selfie)"],
            DocumentPhoto => ["Жеке басын куәландыратын құжаттың онлайн-фотосуреті", "Онлайн-фотография документа, удостоверяющего личность", "Online photo of the identity document"],
            Pep => ["Шетелдік жария лауазымды тұлғаларға қатысы", "Отношение к иностранным публичным должностным лицам", "Relation to foreign politically exposed persons"],
            BeneficialOwner => ["Бенефициарлық меншік иесі мәртебесі", "Статус бенефициарного собственника", "Beneficial-owner status"],
            MaritalStatus => ["Отбасылық жағдайы және асырауындағы адамдардың саны", "Семейное положение и количество иждивенцев", "Marital status and number of dependants"],
            Microcredit => ["Микрокредит туралы мәліметтер", "Сведения о микрокредите", "Microcredit details"],
            Employer => ["Жұмыс орнының атауы мен мекенжайы", "Наименование и адрес места работы", "Employer name and address"],
            Device => ["Құрылғы туралы ақпарат", "Информация об устройстве", "Device information"],
            IpAddress => ["IP-мекенжайы", "IP-адрес", "IP address"],
            Browser => ["Браузер туралы ақпарат", "Информация о браузере", "Browser information"],
            ServerLog => ["Сервердің жүйелік журналындағы ақпарат", "Данные системного журнала сервера", "Server system-log data"],
            Cookie => ["Cookie-файлдар және ұқсас технологиялар", "Файлы cookie и аналогичные технологии", "Cookies and similar technologies"],
            Usage => ["Интернет-ресурсты пайдалану туралы деректер", "Данные об использовании интернет-ресурса", "Data on the use of the resource"],
            Location => ["Орналасқан жері туралы ақпарат", "Сведения о местоположении", "Location"],
            AccessTime => ["Қол жеткізу күні мен уақыты", "Дата и время доступа", "Date and time of access"],
            Consent => ["Келісімдер және саясат туралы хабарламалар", "Согласия и уведомления о политике", "Consents and policy notices"],
            Disclosure => ["Үшінші тұлғаларға беру", "Передача третьим лицам", "Transfers to third parties"],
            SupportMessage => ["Қолдау қызметіне өтініштер", "Обращения в службу поддержки", "Messages to support"],
        }
    }
}

/// A retention period (`5y`, `6mo`, `90d`) in words; the text as given when it
/// is not a whole number of years, months or days.
pub fn period_words(text: &str, lang: Lang) -> String {
    let Ok(period) = Period::parse(text) else {
        return text.to_owned();
    };
    let (n, unit) = match (period.months, period.days, period.seconds) {
        (m, 0, 0) if m > 0 && m % 12 == 0 => (m / 12, Unit::Year),
        (m, 0, 0) if m > 0 => (m, Unit::Month),
        (0, d, 0) if d > 0 => (d, Unit::Day),
        _ => return text.to_owned(),
    };
    let word = match lang {
        // Kazakh nouns after a numeral stay singular.
        Lang::Kk => match unit {
            Unit::Year => "жыл",
            Unit::Month => "ай",
            Unit::Day => "күн",
        },
        Lang::Ru => {
            let forms = match unit {
                Unit::Year => ["год", "года", "лет"],
                Unit::Month => ["месяц", "месяца", "месяцев"],
                Unit::Day => ["день", "дня", "дней"],
            };
            forms[russian_plural(n)]
        }
        Lang::En => match (unit, n) {
            (Unit::Year, 1) => "year",
            (Unit::Year, _) => "years",
            (Unit::Month, 1) => "month",
            (Unit::Month, _) => "months",
            (Unit::Day, 1) => "day",
            (Unit::Day, _) => "days",
        },
    };
    format!("{n} {word}")
}

#[derive(Clone, Copy)]
enum Unit {
    Year,
    Month,
    Day,
}

/// Which Russian noun form follows `n`: 0 (1, 21: год), 1 (2-4, 22: года), 2 (5-20, 25: лет).
fn russian_plural(n: u32) -> usize {
    match (n % 10, n % 100) {
        (1, r) if r != 11 => 0,
        (2..=4, r) if !(12..=14).contains(&r) => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_three_distinct_labels() {
        for category in Category::ALL {
            let [kk, ru, en] = category.labels();
            assert!(!kk.is_empty() && !ru.is_empty() && !en.is_empty());
            assert_ne!(kk, en, "{category}");
            assert_ne!(ru, en, "{category}");
        }
    }

    #[test]
    fn periods_read_as_words() {
        assert_eq!(period_words("5y", Lang::Ru), "5 лет");
        assert_eq!(period_words("1y", Lang::Ru), "1 год");
        assert_eq!(period_words("3y", Lang::Ru), "3 года");
        assert_eq!(period_words("180d", Lang::Ru), "180 дней");
        assert_eq!(period_words("21d", Lang::Ru), "21 день");
        assert_eq!(period_words("12d", Lang::Ru), "12 дней");
        assert_eq!(period_words("6mo", Lang::Kk), "6 ай");
        assert_eq!(period_words("90d", Lang::Kk), "90 күн");
        assert_eq!(period_words("1y", Lang::En), "1 year");
        assert_eq!(period_words("12h", Lang::En), "12h");
    }
}
